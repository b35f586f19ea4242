// reset client: it writes a request to a server that closes without
// reading it. The server's kernel answers with a reset (RST): our read
// fails with ECONNRESET, and a write after that fails with EPIPE.
//
//   cc -Wall -o resetclient client.c && ./resetclient 127.0.0.1 PORT
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "Usage: resetclient HOST PORT\n");
        exit(1);
    }
    // writing to a reset connection raises SIGPIPE, which kills the process
    // by default; ignored, the write returns -1 with errno EPIPE instead
    signal(SIGPIPE, SIG_IGN);

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

    // the write succeeds: it only hands the bytes to our kernel
    const char* request = "hello? are you reading this?\n";
    write(fd, request, strlen(request));

    // the read waits for a reply, and gets the server's reset instead
    char buf[BUFSIZ];
    if (read(fd, buf, sizeof(buf)) < 0) {
        perror("read"); // read: Connection reset by peer
    }

    // after a reset the connection is gone: writing fails
    const char* again = "still there?\n";
    if (write(fd, again, strlen(again)) < 0) {
        perror("write"); // write: Broken pipe
    }

    close(fd);
    return 0;
}
