// The live figures of the book (issue 15): filled in below.
