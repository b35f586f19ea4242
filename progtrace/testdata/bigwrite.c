// bigwrite: one write larger than the socket buffers, to a reader that
// starts late: the write blocks while the reader takes its bytes.
// "bigwrite PORT" listens, forks a child that accepts, waits 100 ms and
// reads to end of file, and itself connects and writes 4 MiB in one call.
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[4 << 20];

int main(int argc, char** argv) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(argc > 1 ? atoi(argv[1]) : 0);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(lfd, (struct sockaddr*) &addr, sizeof(addr)) < 0 || listen(lfd, 1) < 0) {
        exit(1);
    }
    pid_t child = fork();
    if (child == 0) {
        int cfd = accept(lfd, NULL, NULL);
        close(lfd);
        usleep(100000);
        while (read(cfd, buf, 65536) > 0) {
        }
        close(cfd);
        return 0;
    }
    close(lfd);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr*) &addr, sizeof(addr)) < 0) {
        exit(1);
    }
    memset(buf, 'x', sizeof(buf));
    if (write(fd, buf, sizeof(buf)) != (ssize_t) sizeof(buf)) {
        exit(1);
    }
    shutdown(fd, SHUT_WR);
    read(fd, buf, 1);
    close(fd);
    waitpid(child, NULL, 0);
    return 0;
}
