// Thin wrappers for libev's function-like macros, which Swift cannot import.
// Every symbol is prefixed `cev_`; no logic lives here (see REACTOR-NOTES.md C.2).
#ifndef CLIBEV_SHIM_H
#define CLIBEV_SHIM_H

#include <ev.h>

typedef void (*cev_io_cb)(struct ev_loop *loop, ev_io *w, int revents);
typedef void (*cev_timer_cb)(struct ev_loop *loop, ev_timer *w, int revents);
typedef void (*cev_async_cb)(struct ev_loop *loop, ev_async *w, int revents);
typedef void (*cev_signal_cb)(struct ev_loop *loop, ev_signal *w, int revents);
typedef void (*cev_prepare_cb)(struct ev_loop *loop, ev_prepare *w, int revents);

static inline void cev_io_init(ev_io *w, cev_io_cb cb, int fd, int events) { ev_io_init(w, cb, fd, events); }
static inline void cev_io_set(ev_io *w, int fd, int events) { ev_io_set(w, fd, events); }
static inline void cev_timer_init(ev_timer *w, cev_timer_cb cb, double after, double repeat) {
    ev_timer_init(w, cb, after, repeat);
}
static inline void cev_timer_set(ev_timer *w, double after, double repeat) { ev_timer_set(w, after, repeat); }
static inline void cev_async_init(ev_async *w, cev_async_cb cb) { ev_async_init(w, cb); }
static inline void cev_signal_init(ev_signal *w, cev_signal_cb cb, int signum) { ev_signal_init(w, cb, signum); }
static inline void cev_prepare_init(ev_prepare *w, cev_prepare_cb cb) { ev_prepare_init(w, cb); }
static inline int cev_is_active(const void *w) { return ev_is_active((const ev_watcher *)w); }
static inline int cev_is_pending(const void *w) { return ev_is_pending((const ev_watcher *)w); }
static inline void *cev_data(const void *w) { return ((const ev_watcher *)w)->data; }
static inline void cev_set_data(void *w, void *data) { ((ev_watcher *)w)->data = data; }

#endif
