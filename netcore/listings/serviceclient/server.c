// serviceclient's server: it reads names until end of file, then writes
// them back numbered, one per line: this session's names only.
//
//   cc -Wall -o serviceserver server.c && ./serviceserver PORT
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

    // accept one client
    int cfd = accept(fd, NULL, NULL);
    if (cfd < 0) {
        perror("accept");
        exit(1);
    }

    // read names until end of file
    char names[BUFSIZ];
    size_t len = 0;
    char buf[1024];
    ssize_t n;
    while ((n = read(cfd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n && len < sizeof(names) - 1; i++) {
            names[len++] = buf[i];
        }
    }
    names[len] = '\0';

    // number this session's names, one per line, and write them back
    char results[2 * BUFSIZ];
    int out = 0, count = 0;
    for (char* name = strtok(names, "\r\n"); name; name = strtok(NULL, "\r\n")) {
        out += snprintf(results + out, sizeof(results) - out, "%d %s\n", ++count, name);
        if (out >= (int) sizeof(results)) {
            out = sizeof(results) - 1; // the rest did not fit
            break;
        }
    }
    write(cfd, results, out);

    close(cfd);
    close(fd);
    return 0;
}
