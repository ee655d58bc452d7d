// libpq's client API. Its PG_DIAG_* field codes are character-literal macros, which Swift
// cannot import; the prefixed helpers return them. The include path (/usr/include/postgresql
// on Debian) comes from libpq.pc.
#ifndef CLIBPQ_SHIM_H
#define CLIBPQ_SHIM_H

#include <libpq-fe.h>

static inline int clibpq_diag_sqlstate(void) { return PG_DIAG_SQLSTATE; }
static inline int clibpq_diag_message_primary(void) { return PG_DIAG_MESSAGE_PRIMARY; }
static inline int clibpq_diag_message_detail(void) { return PG_DIAG_MESSAGE_DETAIL; }

#endif
