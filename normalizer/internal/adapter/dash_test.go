package adapter_test

import "testing"

func TestDash_Normalize(t *testing.T) { runGolden(t, "dash") }
