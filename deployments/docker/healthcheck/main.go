// Command healthcheck is the container health probe baked into the service images:
// distroless images have no shell or curl, so docker-compose's healthcheck runs
// `/healthcheck http://127.0.0.1:9091/readyz`. It exits 0 on a 2xx answer within
// 2 seconds and 1 otherwise. It imports only the standard library, so the
// Dockerfiles build it as a single file without this module's dependencies.
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	url := "http://127.0.0.1:9091/readyz"
	if len(os.Args) > 1 {
		url = os.Args[1]
	}
	if err := check(url); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

func check(url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return nil
}
