module slowsleep

go 1.19
