// The floor for downloading videos: one thread driving curl-multi fetches N files at once from
// mock-providers and writes each to OUTPUT_DIR/<n>.mp4, durably (write as the bytes arrive,
// then fsync and rename on one of 8 flush threads, as the worker's writer queues do). Nothing
// else: no SQLite, no JSON, no job, no log. The same libcurl and the download options the
// worker sets (default receive buffer, stall detection instead of a time cap), sockets watched
// with epoll as libev does. It answers: how many MB/s can any worker on this machine get from
// this mock into files, with the mock sharing the cores?
//
// The bytes are written from the callback on the loop thread: the least work there is, and what
// a "bare" client does. The worker instead copies them to its download queues so a slow disk
// cannot stall its loop; bench/downloads.py measures what that costs against this.
//
// Build: gcc -O2 -o curl_multi_download curl_multi_download.c -lcurl -lpthread
// Run:   curl_multi_download URL N OUTPUT_DIR
// Prints one line of name=value pairs; makespan runs from the first start to the last file in
// place.

#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "curl_multi_epoll.h"

#define FLUSHERS 8

typedef struct File {
    long number;
    int descriptor;
    int failed;
    long long bytes;
    struct File *next;
} File;

static int flushed_signal;
static CURLM *multi;
static const char *output_root;
static long total, finished, failures;
static long long bytes_total;
static pthread_mutex_t lists_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static File *to_flush, *flushed;

static void file_path(char *out, size_t size, long number, int temporary) {
    if (temporary) snprintf(out, size, "%s/.%ld.mp4.tmp", output_root, number);
    else snprintf(out, size, "%s/%ld.mp4", output_root, number);
}

static size_t keep(char *data, size_t size, size_t count, void *user) {
    File *file = user;
    size_t bytes = size * count, done = 0;
    while (done < bytes) {
        ssize_t wrote = write(file->descriptor, data + done, bytes - done);
        if (wrote <= 0) return 0;  // curl fails the transfer
        done += (size_t)wrote;
    }
    file->bytes += (long long)bytes;
    return bytes;
}

static void *flusher(void *unused) {
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&lists_lock);
        while (!to_flush) pthread_cond_wait(&work_ready, &lists_lock);
        File *file = to_flush;
        to_flush = file->next;
        pthread_mutex_unlock(&lists_lock);
        char temporary[4200], final[4200];
        file_path(temporary, sizeof temporary, file->number, 1);
        file_path(final, sizeof final, file->number, 0);
        if (fsync(file->descriptor) != 0 || rename(temporary, final) != 0) file->failed = 1;
        close(file->descriptor);
        pthread_mutex_lock(&lists_lock);
        file->next = flushed;
        flushed = file;
        pthread_mutex_unlock(&lists_lock);
        uint64_t one = 1;
        if (write(flushed_signal, &one, sizeof one) != sizeof one) abort();
    }
    return NULL;
}

static void start(const char *url, long number) {
    File *file = calloc(1, sizeof *file);
    char temporary[4200];
    file->number = number;
    file_path(temporary, sizeof temporary, number, 1);
    file->descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (file->descriptor < 0) {
        perror(temporary);
        exit(1);
    }
    CURL *easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, file);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, file);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_multi_add_handle(multi, easy);
}

static void collect_finished(void) {
    CURLMsg *message;
    int left;
    while ((message = curl_multi_info_read(multi, &left))) {
        if (message->msg != CURLMSG_DONE) continue;
        CURL *easy = message->easy_handle;
        long status = 0;
        File *file = NULL;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&file);
        file->failed = message->data.result != CURLE_OK || status != 200;
        curl_multi_remove_handle(multi, easy);
        curl_easy_cleanup(easy);
        pthread_mutex_lock(&lists_lock);
        file->next = to_flush;
        to_flush = file;
        pthread_cond_signal(&work_ready);
        pthread_mutex_unlock(&lists_lock);
    }
}

static void collect_flushed(void) {
    uint64_t count;
    if (read(flushed_signal, &count, sizeof count) != sizeof count) return;
    pthread_mutex_lock(&lists_lock);
    File *files = flushed;
    flushed = NULL;
    pthread_mutex_unlock(&lists_lock);
    while (files) {
        File *next = files->next;
        failures += files->failed;
        bytes_total += files->bytes;
        finished++;
        free(files);
        files = next;
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s URL N OUTPUT_DIR\n", argv[0]);
        return 2;
    }
    const char *url = argv[1];
    total = atol(argv[2]);
    output_root = argv[3];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi = curl_multi_init();
    watch_multi(multi);
    flushed_signal = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event signal_event = {.events = EPOLLIN, .data.fd = flushed_signal};
    epoll_ctl(poller, EPOLL_CTL_ADD, flushed_signal, &signal_event);
    for (int i = 0; i < FLUSHERS; i++) {
        pthread_t thread;
        pthread_create(&thread, NULL, flusher, NULL);
    }
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, total < 16 ? 16L : total);
    double first_start = now();
    for (long i = 1; i <= total; i++) start(url, i);
    while (finished < total) {
        turn(multi, flushed_signal, collect_flushed);
        collect_finished();
    }
    double makespan = now() - first_start;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
                 usage.ru_stime.tv_usec / 1e6;
    printf("files=%ld failures=%ld bytes=%lld makespan=%.3f mb_per_second=%.1f cpu_seconds=%.3f rss_mb=%.1f\n",
           finished, failures, bytes_total, makespan, bytes_total / 1e6 / makespan, cpu, usage.ru_maxrss / 1024.0);
    return failures ? 1 : 0;
}
