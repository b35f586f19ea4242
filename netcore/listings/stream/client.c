// stream client: one large write, then several small ones. TCP keeps no
// message boundaries: the server's reads will not line up with these writes.
//
//   cc -Wall -o streamclient client.c && ./streamclient 127.0.0.1 PORT 8192 5
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "Usage: streamclient HOST PORT [SIZE [WRITES]]\n");
        exit(1);
    }
    int size = argc > 3 ? atoi(argv[3]) : 8192;
    int writes = argc > 4 ? atoi(argv[4]) : 5;

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

    // connect to server
    int fd = socket(ai->ai_family, ai->ai_socktype, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        perror("connect");
        exit(1);
    }
    freeaddrinfo(ai);

    // turn off Nagle's algorithm: each small write leaves at once instead of
    // waiting for the acknowledgement of the one before
    int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));

    // one large write of numbered lines
    char* big = malloc(size + 64);
    int len = 0;
    for (int i = 1; len < size; ++i) {
        len += sprintf(big + len, "line %04d of one large write\n", i);
    }
    if (write(fd, big, size) != size) {
        perror("write");
        exit(1);
    }
    free(big);

    // then several small writes
    for (int i = 1; i <= writes; ++i) {
        char small[64];
        int n = snprintf(small, sizeof(small), "small write %d\n", i);
        write(fd, small, n);
    }

    // no more to send; the server replies with nothing but its close
    shutdown(fd, SHUT_WR);
    char buf[BUFSIZ];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
    close(fd);
    return 0;
}
