// Package trace is seqd's domain: the record of a traced TCP session.
//
// A Session holds the calls that netcore made on real sockets, one Event per
// call in the order the calls returned, timed by one monotonic clock. The JSON
// form of Event (wire format v1, see docs/protocol.md) is the contract with the
// browser and with course pages. Subscribers read a session's history and then
// its live events without ever slowing the session down; a Store keeps recent
// sessions readable by id.
//
// trace knows nothing of sockets or HTTP: netcore writes into it, web reads
// from it.
package trace
