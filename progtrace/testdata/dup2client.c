// dup2client: writes to standard output, then makes its socket standard
// output with dup2 and writes its names there with printf: the same
// descriptor number, another file.
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "Usage: dup2client PORT NAME [NAME...]\n");
        exit(1);
    }
    printf("connecting\n");
    fflush(stdout);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(atoi(argv[1]));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr*) &addr, sizeof(addr)) < 0) {
        perror("connect");
        exit(1);
    }
    dup2(fd, 1);
    for (int i = 2; i < argc; ++i) {
        printf("%s\n", argv[i]);
    }
    fflush(stdout);
    shutdown(1, SHUT_WR);
    char buf[1024];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
    return 0;
}
