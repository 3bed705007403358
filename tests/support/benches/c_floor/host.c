/* The "C floor" of scripts/bench: the least a native-messaging host can do. It reads frames
 * (32-bit native-order length + JSON) from stdin and answers each with a fixed `status`-shaped
 * reply carrying the request's id, until stdin ends. No config, no log, no PC/SC: what is left
 * is process start, dynamic linking of libc, and two pipe round trips. Built with `cc -O2` by
 * scripts/bench and timed in the same run as carecard-host's cold start. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int read_all(void *buf, size_t len) {
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(0, p, len);
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(void) {
    static char frame[65536];
    char reply[256];
    for (;;) {
        uint32_t len;
        if (read_all(&len, sizeof len) != 0) return 0;
        if (len >= sizeof frame || read_all(frame, len) != 0) return 1;
        frame[len] = '\0';
        /* The id is the number after "id": (no JSON parser: this is a floor, not a host). */
        long id = 0;
        const char *at = strstr(frame, "\"id\"");
        if (at) sscanf(at + 4, " : %ld", &id);
        int n = snprintf(reply + 4, sizeof reply - 4,
                         "{\"id\":%ld,\"result\":{\"version\":\"0\",\"protocol\":1,"
                         "\"pcsc\":\"unavailable\",\"readers\":[]}}", id);
        uint32_t out = (uint32_t)n;
        memcpy(reply, &out, 4);
        if (write(1, reply, 4 + (size_t)n) != 4 + n) return 1;
    }
}
