// Package web is seqd's HTTP face: a chi router with the JSON API, the
// WebSocket stream of a session's events, and the embedded page, embed
// page and <seq-diagram> module that draw them.
//
// web never touches sockets: it asks a Runner, an interface it declares,
// to prepare and start sessions, and reads them through trace. cmd/seqd
// hands it netcore's Runner.
package web
