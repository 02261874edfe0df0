#![prog_type = socket_filter]
    ldabsb 23          # IPv4 protocol on a live AF_PACKET socket
    jne r0, 17, drop
    ldabsh 36
    jne r0, 53, drop
    mov r0, -1
    exit
drop:
    mov r0, 0
    exit
