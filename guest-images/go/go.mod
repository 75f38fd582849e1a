module glass/guests

go 1.19
