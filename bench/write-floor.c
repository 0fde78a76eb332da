// The floor under one-at-a-time fan-out on this machine: what a bare write(2) of one small message
// to each of N loopback TCP connections costs the writing process, with nothing of a push server
// around it. The writer is this process (single-threaded, its CPU from getrusage); the readers
// are a forked child draining every connection with epoll, as subscribers would. Also prints the
// whole machine's busy CPU over the same window (/proc/stat), per write.
//
//   cc -O2 -o write-floor bench/write-floor.c
//   ./write-floor <connections> <messages> <rate per s, 0: flat out> <nodelay 1|0> [size]
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double self_cpu(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

// Busy CPU seconds of the whole machine: every field of the first line but idle and iowait.
static double machine_cpu(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return 0;
    unsigned long long v[8] = {0};
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &v[6], &v[7]) != 8) {
        fclose(f);
        return 0;
    }
    fclose(f);
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy / sysconf(_SC_CLK_TCK);
}

static void fail(const char *what) {
    perror(what);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s connections messages rate nodelay [size]\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[1]), messages = atoi(argv[2]), rate = atoi(argv[3]), nodelay = atoi(argv[4]);
    int size = argc > 5 ? atoi(argv[5]) : 64;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 4096) < 0)
        fail("listen");
    getsockname(listener, (struct sockaddr *)&address, &length);
    int *clients = calloc(n, sizeof(int)), *servers = calloc(n, sizeof(int));
    for (int i = 0; i < n; i++) {
        clients[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (clients[i] < 0 || connect(clients[i], (struct sockaddr *)&address, sizeof address) < 0) fail("connect");
        servers[i] = accept(listener, NULL, NULL);
        if (servers[i] < 0) fail("accept");
        setsockopt(servers[i], IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
    }
    long long expected = (long long)n * messages * size;
    pid_t reader = fork();
    if (reader == 0) {
        for (int i = 0; i < n; i++) close(servers[i]);
        int poll = epoll_create1(0);
        for (int i = 0; i < n; i++) {
            struct epoll_event event = {.events = EPOLLIN, .data.fd = clients[i]};
            epoll_ctl(poll, EPOLL_CTL_ADD, clients[i], &event);
        }
        struct epoll_event events[256];
        char buffer[65536];
        long long got = 0;
        while (got < expected) {
            int ready = epoll_wait(poll, events, 256, 10000);
            if (ready <= 0) break;
            for (int i = 0; i < ready; i++) {
                ssize_t r = read(events[i].data.fd, buffer, sizeof buffer);
                if (r > 0) got += r;
            }
        }
        _exit(got == expected ? 0 : 3);
    }
    for (int i = 0; i < n; i++) close(clients[i]);
    char *message = malloc(size);
    memset(message, 'x', size);
    double started = now(), cpu = self_cpu(), machine = machine_cpu();
    for (int m = 0; m < messages; m++) {
        if (rate > 0) {
            double due = started + (double)m / rate;
            double wait = due - now();
            if (wait > 0) {
                struct timespec t = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
                nanosleep(&t, NULL);
            }
        }
        for (int i = 0; i < n; i++)
            if (write(servers[i], message, size) != size) fail("write");
    }
    int status = 0;
    waitpid(reader, &status, 0);
    double elapsed = now() - started, used = self_cpu() - cpu, busy = machine_cpu() - machine;
    double writes = (double)n * messages;
    printf("%d connections, %d messages of %d B, %s, TCP_NODELAY %s: %.2f µs writer CPU per write, "
           "%.2f µs machine CPU per write, %.0f writes/s%s\n",
           n, messages, size, rate > 0 ? "rate-limited" : "flat out", nodelay ? "on" : "off", used / writes * 1e6,
           busy / writes * 1e6, writes / elapsed, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" : " (reader incomplete)");
    return 0;
}
