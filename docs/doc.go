// Package docs holds the user documentation (Markdown, OpenAPI, the event
// schema and examples); its tests keep what the pages say about the code
// true.
package docs
