// stream server: it reads the client's large write in chunk-sized reads,
// then takes the client's small writes, which have piled up meanwhile in its
// receive queue, with one read.
//
//   cc -Wall -o streamserver server.c && ./streamserver PORT 8192 1024
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0; // 0: the kernel picks a port
    int size = argc > 2 ? atoi(argv[2]) : 8192;  // the client's large write
    int chunk = argc > 3 ? atoi(argv[3]) : 1024; // our read buffer for it

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

    // one write, many reads: each read takes at most the buffer it is given
    char* part = malloc(chunk);
    int got = 0;
    while (got < size) {
        ssize_t n = read(cfd, part, size - got < chunk ? size - got : chunk);
        if (n <= 0) {
            fprintf(stderr, "read: end of file after %d of %d bytes\n", got, size);
            exit(1);
        }
        printf("read %zd bytes of the large write\n", n);
        got += n;
    }
    free(part);

    // give the small writes time to pile up (seqd's server waits until the
    // client's last small write has returned), then take them all at once
    sleep(1);
    char pile[65536];
    ssize_t n = read(cfd, pile, sizeof(pile));
    printf("one read took %zd bytes:\n", n);
    fwrite(pile, 1, n > 0 ? n : 0, stdout);

    // then read until end of file: the client's shutdown(fd, SHUT_WR)
    char rest[1024];
    while ((n = read(cfd, rest, sizeof(rest))) > 0) {
        printf("read %zd more bytes\n", n);
    }

    close(cfd);
    close(fd);
    return 0;
}
