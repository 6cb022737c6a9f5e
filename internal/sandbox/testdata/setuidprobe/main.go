// Command setuidprobe prints its effective user id: the escape suite
// installs it set-user-ID root and runs it inside a sandbox.
package main

import (
	"fmt"
	"os"
)

func main() { fmt.Println(os.Geteuid()) }
