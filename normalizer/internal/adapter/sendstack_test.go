package adapter_test

import "testing"

func TestSendstack_Normalize(t *testing.T) { runGolden(t, "sendstack") }
