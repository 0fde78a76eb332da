// Herald's view of hiredis (Debian's libhiredis-dev, 0.14.x, RESP2 only).
//
// Herald uses hiredis for two things only: the RESP reply parser (`redisReader*`) and command
// formatting (`redisFormatCommandArgv`). Sockets, contexts and the async API are never used; all I/O
// is SwiftNIO's. Function-like macros of hiredis get `static inline` wrappers here because Swift
// cannot import them.
#ifndef HERALD_CHIREDIS_SHIM_H
#define HERALD_CHIREDIS_SHIM_H

#include <hiredis/hiredis.h>

/// The reader's error description (`redisReaderGetError`), valid until the reader is freed.
static inline const char *herald_redisReaderGetError(const redisReader *reader) {
    return reader->errstr;
}

#endif
