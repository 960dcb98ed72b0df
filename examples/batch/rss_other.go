//go:build !linux

package main

const rssUnit = 1 // macOS and the BSDs report ru_maxrss in bytes
