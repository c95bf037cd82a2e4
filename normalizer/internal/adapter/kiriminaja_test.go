package adapter_test

import "testing"

func TestKiriminaja_Normalize(t *testing.T) { runGolden(t, "kiriminaja") }
