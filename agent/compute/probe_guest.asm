; The guest the KVM probe boots (agent/compute/virt_probe.py): what a real
; bootloader and kernel ask of the virtual CPU, in two disk sectors.
;
;   sector 0 (loaded by the BIOS at 0x7c00, real mode)
;     'R'  on COM1: real mode runs
;          reads sector 1 to 0x8000 through the BIOS (int 13h, extended read):
;          SeaBIOS leaves real mode and comes back, as for every bootloader's read
;     'D'  the read worked
;   sector 1 (at 0x8000)
;     'P'  protected mode, flat 32-bit segments
;     'L'  long mode: PAE, 4-level page tables, EFER.LME, paging on
;     'S'  SSE enabled and used, the TSC read: what a kernel does first
;     then halts with interrupts off.
;
; Build: nasm -f bin -o probe_guest.bin probe_guest.asm; the bytes live in
; probe_guest.py (a unit test checks they match this source).

BITS 16
ORG 0x7c00

COM1        equ 0x3f8
STAGE2      equ 0x8000
PML4        equ 0x1000          ; then PDPT at 0x2000, PD at 0x3000

stage1:
    cli
    cld
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    mov [boot_drive], dl
    mov al, 'R'
    call putc16
    sti                         ; the BIOS disk service wants interrupts
    mov si, dap
    mov ah, 0x42
    mov dl, [boot_drive]
    int 0x13
    cli
    jc .halt
    mov al, 'D'
    call putc16
    jmp 0:STAGE2
.halt:
    hlt
    jmp .halt

putc16:
    mov dx, COM1
    out dx, al
    ret

boot_drive: db 0
dap:                            ; disk address packet: one sector, LBA 1, to 0:0x8000
    db 0x10, 0
    dw 1
    dw STAGE2, 0
    dq 1

    times 510 - ($ - $$) db 0
    dw 0xaa55

; ---------------------------------------------------------------- sector 1
SECTION stage2 vstart=STAGE2

BITS 16
    ; the fast A20 gate
    in al, 0x92
    or al, 2
    out 0x92, al
    ; identity-map the first 2 MiB with one large page
    mov di, PML4
    mov cx, 0x3000 / 4
    xor eax, eax
    rep stosd
    mov dword [PML4], PML4 + 0x1003
    mov dword [PML4 + 0x1000], PML4 + 0x2003
    mov dword [PML4 + 0x2000], 0x83
    lgdt [gdt_pointer]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp 0x08:protected_mode

BITS 32
protected_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7000
    mov dx, COM1
    mov al, 'P'
    out dx, al
    mov eax, cr4
    or eax, 1 << 5              ; PAE
    mov cr4, eax
    mov eax, PML4
    mov cr3, eax
    mov ecx, 0xc0000080         ; EFER
    rdmsr
    or eax, 1 << 8              ; LME
    wrmsr
    mov eax, cr0
    or eax, 1 << 31             ; paging: long mode is active from here
    mov cr0, eax
    jmp 0x18:long_mode

BITS 64
long_mode:
    mov dx, COM1
    mov al, 'L'
    out dx, al
    mov rax, cr0
    and ax, 0xfffb              ; no x87 emulation
    or ax, 1 << 1               ; monitor coprocessor
    mov cr0, rax
    mov rax, cr4
    or ax, 3 << 9               ; OSFXSR, OSXMMEXCPT
    mov cr4, rax
    rdtsc
    movd xmm0, eax
    paddd xmm0, xmm0
    movd eax, xmm0
    mov dx, COM1                ; rdtsc took edx
    mov al, 'S'
    out dx, al
.halt:
    hlt
    jmp .halt

ALIGN 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff       ; 0x08: 32-bit code, flat
    dq 0x00cf92000000ffff       ; 0x10: data, flat
    dq 0x00af9a000000ffff       ; 0x18: 64-bit code
gdt_pointer:
    dw $ - gdt - 1
    dd gdt

    times 512 - ($ - $$) db 0
