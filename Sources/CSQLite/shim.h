// SQLite's SQLITE_TRANSIENT is a cast macro Swift cannot import; the prefixed helper returns it.
#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H

#include <sqlite3.h>

static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }

#endif
