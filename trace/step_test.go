package trace

import (
	"errors"
	"testing"
)

func TestSetPendingKeepsTheAnswersToTheSameCall(t *testing.T) {
	q := func() *Question {
		return &Question{Text: "What will read return?", Choices: []string{"data", "0 (EOF)"}, IDs: []string{ChoiceData, ChoiceEOF}}
	}
	for _, tc := range []struct {
		name   string
		next   *Pending
		tally0 int
	}{
		{"the same call shown again keeps the tally", &Pending{N: 1, Actor: "client", Kind: KindRecv, Question: q()}, 1},
		{"the next call starts a new tally", &Pending{N: 2, Actor: "client", Kind: KindRecv, Question: q()}, 0},
		{"the same number with another question starts a new tally", &Pending{N: 1, Actor: "client", Kind: KindRecv, Question: &Question{Text: "Other?", Choices: []string{"a", "b"}, IDs: []string{"a", "b"}}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSession("echo", nil, Options{})
			s.SetPending(&Pending{N: 1, Actor: "client", Kind: KindRecv, Question: q()})
			if err := s.Answer("viewer-1", 0); err != nil {
				t.Fatal(err)
			}
			s.SetPending(tc.next)
			if got := s.Pending().Question.Tally[0]; got != tc.tally0 {
				t.Errorf("tally of the first choice %d; want %d", got, tc.tally0)
			}
			if err := s.Answer("viewer-2", 1); err != nil {
				t.Errorf("answering after: %v", err)
			}
		})
	}
}

func TestPendingChangedErrorSaysWhatIsShown(t *testing.T) {
	err := error(&PendingChangedError{Want: 3, Now: &Pending{N: 4, Actor: "client", Kind: KindConnect}})
	var changed *PendingChangedError
	if !errors.As(err, &changed) || changed.Now.N != 4 {
		t.Fatalf("errors.As: %v", err)
	}
	if got, want := err.Error(), "the step was for pending call 3, but call 4 (client connect) is shown now"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}
