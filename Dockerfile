# syntax=docker/dockerfile:1
# seqd: a static binary on a distroless base, run as a non-root user.
#   docker build -t seqd .
#   docker run --rm -p 8080:8080 -v seqd-data:/data seqd

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/seqd ./cmd/seqd && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/seqd /usr/local/bin/seqd
# Finished sessions are saved here, so permalinks survive restarts:
#   docker run -v seqd-data:/data -p 8080:8080 seqd
COPY --from=build --chown=nonroot:nonroot /out/data /data
VOLUME /data
USER nonroot:nonroot
EXPOSE 8080
# Inside the container seqd listens on every interface; publish the port
# with -p to choose who can reach it. Served by a name (behind a proxy, or
# by DNS), append it: docker run … seqd -public-url https://seqd.example.edu
ENTRYPOINT ["/usr/local/bin/seqd", "serve", "-addr", "0.0.0.0:8080", "-data", "/data"]
