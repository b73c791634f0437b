// Command registry is the CNCF Distribution registry with the filesystem storage driver only:
// the image registry that the CI cluster's nodes pull from (as k3d's registry is on the Mac).
package main

import (
	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

func main() {
	_ = registry.RootCmd.Execute()
}
