module github.com/dletter/dletter

go 1.26.0
