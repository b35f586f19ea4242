// backpressure client: a fast writer with a small send buffer. It asks
// each write to take a large chunk; once the buffers are full, the write
// has to wait until the slow server reads.
//
//   cc -Wall -o bpclient client.c && ./bpclient 127.0.0.1 PORT 131072 32768
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "Usage: bpclient HOST PORT [TOTAL [CHUNK]]\n");
        exit(1);
    }
    size_t total = argc > 3 ? atol(argv[3]) : 128 * 1024;
    size_t chunk = argc > 4 ? atol(argv[4]) : 32 * 1024;

    // look up host and port
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;     // use IPv4 or IPv6
    hints.ai_socktype = SOCK_STREAM; // use TCP
    hints.ai_flags = AI_NUMERICSERV;
    int r = getaddrinfo(argv[1], argv[2], &hints, &ai);
    if (r != 0) {
        fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(r));
        exit(1);
    }

    // a small send buffer, set before connect like the server's receive buffer
    int fd = socket(ai->ai_family, ai->ai_socktype, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    int size = 4096; // the kernel doubles it, and applies its minimum
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        perror("connect");
        exit(1);
    }
    freeaddrinfo(ai);

    // write returns how many bytes the kernel took. A blocking socket waits
    // while the send buffer is full, yet may still take fewer than asked (a
    // signal can end the wait; a non-blocking socket, like seqd's, returns
    // as soon as the buffer is full): go on from where it stopped
    char* data = malloc(total);
    memset(data, 'x', total);
    size_t off = 0;
    while (off < total) {
        size_t want = total - off < chunk ? total - off : chunk;
        ssize_t n = write(fd, data + off, want);
        if (n < 0) {
            perror("write");
            exit(1);
        }
        printf("write took %zd of %zu bytes\n", n, want);
        off += n;
    }
    free(data);

    // no more to send; the server replies with nothing but its close
    shutdown(fd, SHUT_WR);
    char buf[BUFSIZ];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
    close(fd);
    return 0;
}
