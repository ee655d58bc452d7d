// What one thread driving curl-multi gets from mock-providers with nothing else to do per job:
// N POSTs of the worker's image request, C in flight at a time, a new one started as soon as
// one ends, every answer read and thrown away. No SQLite, no JSON, no output file, no logging.
// The same libcurl, the same per-transfer options as the worker (bench/limits.py, RESULTS.md),
// sockets watched with epoll as libev does. It answers: how close to the ideal can a worker on
// this machine come at all, with this mock sharing the cores?
//
// With OUTPUT_DIR, each answer is also kept, as every image job must: its b64_json is decoded
// and written durably as OUTPUT_DIR/<n>/image-1.png (mkdir, write to a temporary name, fsync,
// rename) by one of 8 writer threads, as the worker's output writers do, and the next request
// starts only once the file is in place. Still no SQLite, no log, no JSON beyond finding the
// one field: the least any durable image worker does per job.
//
// Build: gcc -O2 -o curl_multi_client curl_multi_client.c -lcurl -lpthread
// Run:   curl_multi_client URL N C [OUTPUT_DIR]   (URL ends in /v1/images/generations)
// Prints one line of name=value pairs; makespan runs from the first start to the last answer
// (with OUTPUT_DIR, to the last file in place).

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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "curl_multi_epoll.h"

static const char *body = "{\"model\":\"gpt-image-1\",\"prompt\":\"a lighthouse at dusk, oil painting\"}";

static CURLM *multi;
static const char *url;
static struct curl_slist *headers;
static long started, finished, total, failures;
static double first_start, last_finish;

// Durable outputs (only with OUTPUT_DIR). An answer's body grows in its Answer; a finished
// Answer goes to the writers' list, and once its file is in place to the done list, with the
// eventfd telling the loop thread.
#define WRITERS 8
typedef struct Answer {
    long number;
    char *body;
    size_t length, capacity;
    int failed;
    struct Answer *next;
} Answer;
static const char *output_root;
static pthread_mutex_t lists_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static Answer *to_write, *to_write_last, *written;  // to_write in arrival order, as the worker's queues
static int written_signal;

static size_t discard(char *data, size_t size, size_t count, void *user) {
    (void)data;
    (void)user;
    return size * count;
}

static size_t keep(char *data, size_t size, size_t count, void *user) {
    Answer *answer = user;
    size_t bytes = size * count;
    if (answer->length + bytes + 1 > answer->capacity) {  // + 1: room for decode_image's NUL
        answer->capacity = (answer->length + bytes + 1) * 2;
        answer->body = realloc(answer->body, answer->capacity);
        if (!answer->body) abort();
    }
    memcpy(answer->body + answer->length, data, bytes);
    answer->length += bytes;
    return bytes;
}

static int base64_value(unsigned char letter) {
    if (letter >= 'A' && letter <= 'Z') return letter - 'A';
    if (letter >= 'a' && letter <= 'z') return letter - 'a' + 26;
    if (letter >= '0' && letter <= '9') return letter - '0' + 52;
    if (letter == '+') return 62;
    if (letter == '/') return 63;
    return -1;
}

// Decodes the b64_json string of the answer in place; returns the byte count, or -1.
static long decode_image(Answer *answer) {
    static const char field[] = "\"b64_json\":\"";
    if (!answer->body) return -1;
    answer->body[answer->length] = 0;
    char *start = strstr(answer->body, field);
    if (!start) return -1;
    unsigned char *in = (unsigned char *)start + sizeof field - 1, *out = (unsigned char *)answer->body;
    uint32_t bits = 0;
    int held = 0;
    for (; *in && *in != '"'; in++) {
        if (*in == '=') continue;
        int value = base64_value(*in);
        if (value < 0) return -1;
        bits = bits << 6 | (uint32_t)value;
        if ((held += 6) >= 8) *out++ = (unsigned char)(bits >> (held -= 8));
    }
    return (long)(out - (unsigned char *)answer->body);
}

static int write_durably(Answer *answer) {
    long bytes = decode_image(answer);
    if (bytes <= 0) return -1;
    char folder[4096], temporary[4200], final[4200];
    snprintf(folder, sizeof folder, "%s/%ld", output_root, answer->number);
    snprintf(temporary, sizeof temporary, "%s/.image-1.png.%d.tmp", folder, (int)getpid());
    snprintf(final, sizeof final, "%s/image-1.png", folder);
    if (mkdir(folder, 0777) != 0) return -1;
    int descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (descriptor < 0) return -1;
    int ok = write(descriptor, answer->body, (size_t)bytes) == bytes && fsync(descriptor) == 0;
    close(descriptor);
    return ok && rename(temporary, final) == 0 ? 0 : -1;
}

static void *writer(void *unused) {
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&lists_lock);
        while (!to_write) pthread_cond_wait(&work_ready, &lists_lock);
        Answer *answer = to_write;
        to_write = answer->next;
        if (!to_write) to_write_last = NULL;
        pthread_mutex_unlock(&lists_lock);
        if (write_durably(answer) != 0) answer->failed = 1;
        pthread_mutex_lock(&lists_lock);
        answer->next = written;
        written = answer;
        pthread_mutex_unlock(&lists_lock);
        uint64_t one = 1;
        if (write(written_signal, &one, sizeof one) != sizeof one) abort();
    }
    return NULL;
}

static void start_one(void) {
    CURL *easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    if (output_root) {
        Answer *answer = calloc(1, sizeof *answer);
        answer->number = started + 1;
        curl_easy_setopt(easy, CURLOPT_PRIVATE, answer);
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, answer);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep);
    } else {
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    }
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
        int failed = message->data.result != CURLE_OK || status != 200;
        Answer *answer = NULL;
        if (output_root) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&answer);
        curl_multi_remove_handle(multi, easy);
        curl_easy_cleanup(easy);
        if (answer && !failed) {
            pthread_mutex_lock(&lists_lock);
            answer->next = NULL;
            if (to_write_last) to_write_last->next = answer;
            else to_write = answer;
            to_write_last = answer;
            pthread_cond_signal(&work_ready);
            pthread_mutex_unlock(&lists_lock);
            continue;
        }
        failures += failed;
        if (answer) free(answer->body), free(answer);
        finished++;
        last_finish = now();
        if (started < total) start_one();
    }
}

// Counts the answers whose files are in place and starts as many new requests.
static void collect_written(void) {
    uint64_t count;
    if (read(written_signal, &count, sizeof count) != sizeof count) return;
    pthread_mutex_lock(&lists_lock);
    Answer *answers = written;
    written = NULL;
    pthread_mutex_unlock(&lists_lock);
    while (answers) {
        Answer *next = answers->next;
        failures += answers->failed;
        free(answers->body);
        free(answers);
        answers = next;
        finished++;
        last_finish = now();
        if (started < total) start_one();
    }
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s URL N C [OUTPUT_DIR]\n", argv[0]);
        return 2;
    }
    url = argv[1];
    total = atol(argv[2]);
    long capacity = atol(argv[3]);
    output_root = argc == 5 ? argv[4] : NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    headers = curl_slist_append(NULL, "Expect:");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Authorization: Bearer sk-bench-openai-key");
    multi = curl_multi_init();
    watch_multi(multi);
    written_signal = -1;
    if (output_root) {
        written_signal = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        struct epoll_event event = {.events = EPOLLIN, .data.fd = written_signal};
        epoll_ctl(poller, EPOLL_CTL_ADD, written_signal, &event);
        for (int i = 0; i < WRITERS; i++) {
            pthread_t thread;
            pthread_create(&thread, NULL, writer, NULL);
        }
    }
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, capacity < 16 ? 16L : capacity);
    for (long i = 0; i < capacity && i < total; i++) start_one();
    while (finished < total) {
        turn(multi, written_signal, collect_written);
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
