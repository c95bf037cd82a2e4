package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

// TestAck_sameAsEchoJSON: ack answers with c.JSON's status, headers and bytes,
// for request ids that need no escaping and for ones that do.
func TestAck_sameAsEchoJSON(t *testing.T) {
	e := echo.New()
	answer := func(write func(c echo.Context) error) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		c := e.NewContext(httptest.NewRequest(http.MethodPost, "/", nil), rec)
		require.NoError(t, write(c))
		return rec
	}
	for _, id := range []string{
		"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "", "req_1.2:3/x", "<script>", `a"b`, `back\slash`,
		"é", "line\nbreak", "\u2028", "a&b", "\x7f",
	} {
		for _, durable := range []string{"kafka", "spool"} {
			got := answer(func(c echo.Context) error { return ack(c, id, durable) })
			want := answer(func(c echo.Context) error {
				return c.JSON(http.StatusOK, ackBody{Status: "accepted", RequestID: id, Durable: durable})
			})
			require.Equal(t, want.Code, got.Code, id)
			require.Equal(t, want.Header(), got.Header(), id)
			require.Equal(t, want.Body.String(), got.Body.String(), id)
		}
	}
}
