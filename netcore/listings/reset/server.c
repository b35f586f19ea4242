// reset server: it accepts a client and closes the connection without
// reading the request. Closing a socket with unread data makes the kernel
// send a reset (RST) instead of a FIN.
//
//   cc -Wall -o resetserver server.c && ./resetserver PORT
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0; // 0: the kernel picks a port

    // create a socket and let it reuse the port of a recent server
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));

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

    // give the client's request time to arrive (seqd's server waits until
    // the client's write has returned), then close without reading it:
    // the unread bytes make this close send RST
    sleep(1);
    close(cfd);
    close(fd);
    return 0;
}
