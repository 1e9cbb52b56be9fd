// Package layering holds no code: its test checks the module's import
// graph, so an arrow that runs back up the layers fails CI.
package layering
