// HTTP/1.0 server: it reads the request until the blank line that ends its
// headers, writes a response head and a body, and closes the connection,
// which tells the client the response is over.
//
//   cc -Wall -o httpserver server.c && ./httpserver PORT
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

    // the request may arrive in pieces: read until the blank line is in
    char req[BUFSIZ];
    size_t len = 0;
    req[0] = '\0';
    while (!strstr(req, "\r\n\r\n")) {
        ssize_t n = read(cfd, req + len, sizeof(req) - 1 - len);
        if (n <= 0) {
            fprintf(stderr, "the request ended before its blank line\n");
            exit(1);
        }
        len += n;
        req[len] = '\0';
    }

    // Content-Length tells the client how long the body is
    const char* body = "Hello from seqd!\n"
                       "This body is exactly as long as Content-Length says.\n";
    char head[256];
    int hlen = snprintf(head, sizeof(head),
                        "HTTP/1.0 200 OK\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: %zu\r\n"
                        "\r\n",
                        strlen(body));
    write(cfd, head, hlen);
    write(cfd, body, strlen(body));

    // closing ends the response
    close(cfd);
    close(fd);
    return 0;
}
