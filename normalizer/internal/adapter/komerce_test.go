package adapter_test

import "testing"

func TestKomerce_Normalize(t *testing.T) { runGolden(t, "komerce") }
