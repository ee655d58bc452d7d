// The loop both bench clients drive curl-multi with: sockets watched with epoll as libev does,
// curl's timer kept as one deadline. Header-only: each client is one gcc command.
#ifndef CURL_MULTI_EPOLL_H
#define CURL_MULTI_EPOLL_H

#include <curl/curl.h>
#include <sys/epoll.h>
#include <time.h>

static int poller;
static double timer_deadline = -1;  // curl's next timeout, monotonic seconds; -1 = none

static double now(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return time.tv_sec + time.tv_nsec / 1e9;
}

static int watch_socket(CURL *easy, curl_socket_t socket, int what, void *user, void *socket_user) {
    (void)easy;
    (void)user;
    (void)socket_user;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(poller, EPOLL_CTL_DEL, socket, NULL);  // fails harmlessly once curl closed it
        return 0;
    }
    struct epoll_event event = {0};
    event.data.fd = socket;
    event.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    if (epoll_ctl(poller, EPOLL_CTL_MOD, socket, &event) != 0) epoll_ctl(poller, EPOLL_CTL_ADD, socket, &event);
    return 0;
}

static int set_timer(CURLM *handle, long milliseconds, void *user) {
    (void)handle;
    (void)user;
    timer_deadline = milliseconds < 0 ? -1 : now() + milliseconds / 1000.0;
    return 0;
}

// Makes `multi` report to the epoll loop; call once after curl_multi_init.
static void watch_multi(CURLM *multi) {
    poller = epoll_create1(EPOLL_CLOEXEC);
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, watch_socket);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, set_timer);
}

// One turn: waits for sockets or curl's deadline and hands each event to curl, except events
// on `own_fd` (an eventfd of the client's threads; -1 for none), which go to `on_own`.
static void turn(CURLM *multi, int own_fd, void (*on_own)(void)) {
    struct epoll_event events[256];
    int running = 0, wait = -1;
    if (timer_deadline >= 0) {
        double remaining = timer_deadline - now();
        wait = remaining <= 0 ? 0 : (int)(remaining * 1000) + 1;
    }
    int ready = epoll_wait(poller, events, 256, wait);
    for (int i = 0; i < ready; i++) {
        if (events[i].data.fd == own_fd) {
            on_own();
            continue;
        }
        int flags = ((events[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                    ((events[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                    ((events[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(multi, events[i].data.fd, flags, &running);
    }
    if (timer_deadline >= 0 && timer_deadline <= now()) {
        timer_deadline = -1;
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
}

#endif
