// backpressure server: a slow reader with a small receive buffer. While it
// works between reads, the client's bytes fill its receive buffer, then the
// client's send buffer, and the client's writes have to wait.
//
//   cc -Wall -o bpserver server.c && ./bpserver PORT 5
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0; // 0: the kernel picks a port
    int delay_ms = argc > 2 ? atoi(argv[2]) : 5; // our "work" between reads

    // create a socket and let it reuse the port of a recent server
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));

    // a small receive buffer, set on the listening socket so that the
    // accepted one inherits it before the handshake announces the window
    int size = 4096; // the kernel doubles it, and applies its minimum
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));

    // bind to 127.0.0.1:port and listen for connections
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (bind(fd, (struct sockaddr*) &addr, sizeof(addr)) < 0) {
        perror("bind");
        exit(1);
    }
    socklen_t addrlen = sizeof(addr);
    getsockname(fd, (struct sockaddr*) &addr, &addrlen);
    printf("listening on port %d\n", ntohs(addr.sin_port));
    fflush(stdout);
    if (listen(fd, 16) < 0) {
        perror("listen");
        exit(1);
    }

    int cfd = accept(fd, NULL, NULL);
    if (cfd < 0) {
        perror("accept");
        exit(1);
    }

    // work a little, read a little, until end of file
    struct timespec work = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
    char buf[4096];
    long total = 0;
    while (1) {
        nanosleep(&work, NULL);
        ssize_t n = read(cfd, buf, sizeof(buf));
        if (n <= 0) {
            break;
        }
        total += n;
    }
    printf("read %ld bytes\n", total);

    close(cfd);
    close(fd);
    return 0;
}
