// Typed wrappers for libcurl's variadic setopt/getinfo, which Swift cannot call.
// One wrapper per argument type so the C compiler checks what curl will va_arg.
// Every symbol is prefixed `ccurl_`; no logic lives here (see REACTOR-NOTES.md C.2).
#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H

#include <curl/curl.h>

static inline CURLcode ccurl_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_easy_setopt_ptr(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_easy_setopt_str(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_easy_setopt_write(CURL *h, CURLoption o, curl_write_callback v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode ccurl_easy_setopt_sockopt(CURL *h, curl_sockopt_callback v) {
    return curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, v);
}
static inline CURLcode ccurl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode ccurl_easy_getinfo_ptr(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode ccurl_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }

static inline CURLMcode ccurl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode ccurl_multi_setopt_ptr(CURLM *m, CURLMoption o, void *v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode ccurl_multi_setopt_socket(CURLM *m, curl_socket_callback v) {
    return curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, v);
}
static inline CURLMcode ccurl_multi_setopt_timer(CURLM *m, curl_multi_timer_callback v) {
    return curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, v);
}

/* Unions and macros Swift reads awkwardly. */
static inline CURLcode ccurl_msg_result(const CURLMsg *m) { return m->data.result; }
static inline unsigned long ccurl_writefunc_error(void) { return CURL_WRITEFUNC_ERROR; }
static inline unsigned long ccurl_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline CURLcode ccurl_easy_unpause(CURL *e) { return curl_easy_pause(e, CURLPAUSE_CONT); }

#endif
