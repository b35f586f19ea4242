// concurrent server: it accepts several clients and serves each in its own
// child process, so a slow client does not hold up the others. accept
// returns a new socket for each connection; the listening socket stays
// open for the next one.
//
//   cc -Wall -o concurrentserver server.c && ./concurrentserver PORT 3
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

// serve reads the client's name until end of file and greets it
static void serve(int cfd) {
    char name[1024];
    size_t len = 0;
    ssize_t n;
    while ((n = read(cfd, name + len, sizeof(name) - 1 - len)) > 0) {
        len += n;
    }
    while (len > 0 && isspace((unsigned char) name[len - 1])) {
        --len;
    }
    char reply[1100];
    int rlen = snprintf(reply, sizeof(reply), "hello, %.*s\n", (int) len, name);
    write(cfd, reply, rlen);
    close(cfd);
}

int main(int argc, char** argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0; // 0: the kernel picks a port
    int nclients = argc > 2 ? atoi(argv[2]) : 3;

    // create a socket and let it reuse the port of a recent server
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));

    // bind to 127.0.0.1:port and listen, with room in the queue for all
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
    if (listen(fd, nclients) < 0) {
        perror("listen");
        exit(1);
    }

    for (int i = 0; i < nclients; ++i) {
        int cfd = accept(fd, NULL, NULL);
        if (cfd < 0) {
            perror("accept");
            exit(1);
        }
        // the child serves this client; fork copies every file descriptor,
        // so each process closes the socket it does not use
        if (fork() == 0) {
            close(fd); // the child never accepts
            serve(cfd);
            exit(0);
        }
        close(cfd); // the parent's copy: the child's keeps the connection
    }

    // every client is in: close the listening socket while the children
    // still serve theirs, then wait for them
    if (close(fd) < 0) {
        perror("close");
    }
    while (wait(NULL) > 0) {
    }
    return 0;
}
