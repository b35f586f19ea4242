// HTTP/1.0 client: it sends a GET request and prints the response. In
// HTTP/1.0 the server ends the response by closing the connection, so the
// client simply reads until end of file.
//
//   cc -Wall -o httpclient client.c && ./httpclient 127.0.0.1 PORT
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "Usage: httpclient HOST PORT\n");
        exit(1);
    }
    const char* host = argv[1];
    const char* port = argv[2];

    // look up host and port
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;     // use IPv4 or IPv6
    hints.ai_socktype = SOCK_STREAM; // use TCP
    hints.ai_flags = AI_NUMERICSERV;
    int r = getaddrinfo(host, port, &hints, &ai);
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

    // the request: one line, headers, then a blank line that ends them
    char req[BUFSIZ];
    int len = snprintf(req, sizeof(req),
                       "GET /hello.txt HTTP/1.0\r\n"
                       "Host: %s:%s\r\n"
                       "User-Agent: seqd\r\n"
                       "\r\n",
                       host, port);
    if (write(fd, req, len) != len) {
        perror("write");
        exit(1);
    }

    // read the response (head and body) until the server closes
    char buf[BUFSIZ];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        fwrite(buf, 1, n, stdout);
    }

    close(fd);
    return 0;
}
