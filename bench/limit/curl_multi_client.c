// What one thread driving curl-multi gets from mock-providers with nothing else to do per job:
// N POSTs of the worker's image request, C in flight at a time, a new one started as soon as
// one ends, every answer read and thrown away. No SQLite, no JSON, no output file, no logging.
// The same libcurl, the same per-transfer options as the worker (bench/limits.py, RESULTS.md),
// sockets watched with epoll as libev does. It answers: how close to the ideal can a worker on
// this machine come at all, with this mock sharing the cores?
//
// Build: gcc -O2 -o curl_multi_client curl_multi_client.c -lcurl
// Run:   curl_multi_client URL N C   (URL ends in /v1/images/generations)
// Prints one line of name=value pairs; makespan runs from the first start to the last answer.

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

static const char *body = "{\"model\":\"gpt-image-1\",\"prompt\":\"a lighthouse at dusk, oil painting\"}";

static int poller;
static double timer_deadline = -1;  // curl's next timeout, monotonic seconds; -1 = none
static CURLM *multi;
static const char *url;
static struct curl_slist *headers;
static long started, finished, total, failures;
static double first_start, last_finish;

static double now(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return time.tv_sec + time.tv_nsec / 1e9;
}

static size_t discard(char *data, size_t size, size_t count, void *user) {
    (void)data;
    (void)user;
    return size * count;
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

static void start_one(void) {
    CURL *easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 2048L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 300000L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, 60L);
    if (started++ == 0) first_start = now();
    curl_multi_add_handle(multi, easy);
}

static void collect_finished(void) {
    CURLMsg *message;
    int left;
    while ((message = curl_multi_info_read(multi, &left))) {
        if (message->msg != CURLMSG_DONE) continue;
        CURL *easy = message->easy_handle;
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (message->data.result != CURLE_OK || status != 200) failures++;
        curl_multi_remove_handle(multi, easy);
        curl_easy_cleanup(easy);
        finished++;
        last_finish = now();
        if (started < total) start_one();
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s URL N C\n", argv[0]);
        return 2;
    }
    url = argv[1];
    total = atol(argv[2]);
    long capacity = atol(argv[3]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    headers = curl_slist_append(NULL, "Expect:");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Authorization: Bearer sk-bench-openai-key");
    poller = epoll_create1(EPOLL_CLOEXEC);
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, watch_socket);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, set_timer);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, capacity < 16 ? 16L : capacity);
    for (long i = 0; i < capacity && i < total; i++) start_one();
    struct epoll_event events[256];
    int running = 0;
    while (finished < total) {
        int wait = -1;
        if (timer_deadline >= 0) {
            double remaining = timer_deadline - now();
            wait = remaining <= 0 ? 0 : (int)(remaining * 1000) + 1;
        }
        int ready = epoll_wait(poller, events, 256, wait);
        for (int i = 0; i < ready; i++) {
            int flags = ((events[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                        ((events[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                        ((events[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(multi, events[i].data.fd, flags, &running);
        }
        if (timer_deadline >= 0 && timer_deadline <= now()) {
            timer_deadline = -1;
            curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        collect_finished();
    }
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
                 usage.ru_stime.tv_usec / 1e6;
    double makespan = last_finish - first_start;
    printf("requests=%ld failures=%ld makespan=%.3f per_second=%.1f cpu_seconds=%.3f\n", finished, failures,
           makespan, finished / makespan, cpu);
    return failures ? 1 : 0;
}
