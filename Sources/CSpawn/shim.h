#ifndef REACTOR_CSPAWN_SHIM_H
#define REACTOR_CSPAWN_SHIM_H

#include <spawn.h>

/* glibc's GNU extensions to posix_spawn (2.29 and 2.34), declared here because Swift's Glibc
 * module is built without _GNU_SOURCE and does not show them. */
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *__restrict actions,
                                                const char *__restrict path);
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

/* In the child: change to `path` before exec. */
static inline int cspawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

/* In the child: close every descriptor from `from` up, whatever its CLOEXEC flag. */
static inline int cspawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

#endif
