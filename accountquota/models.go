package accountquota

import (
	_ "embed"
	"encoding/json"
	"sync"
)

//go:embed models.json
var modelsJSON []byte

// shippedNames are the display names of models.json, by base model id.
var shippedNames = sync.OnceValue(func() map[string][]string {
	var file struct {
		Models map[string][]string `json:"models"`
	}
	if err := json.Unmarshal(modelsJSON, &file); err != nil {
		panic("accountquota: models.json: " + err.Error())
	}
	return file.Models
})
