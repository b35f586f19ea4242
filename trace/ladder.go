package trace

import "io"

// WriteLadder writes a plain-text ladder diagram of the session.
func WriteLadder(w io.Writer, rec Record) error { return nil }
