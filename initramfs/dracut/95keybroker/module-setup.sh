#!/bin/bash
# keybroker's dracut module: systemd-cryptsetup in the initrd opens LUKS2 volumes that carry a
# keybroker token through libcryptsetup-token-keybroker.so, after the network is up, and falls
# back to systemd's passphrase prompt when the broker refuses or the deadline passes.
#
# Included with `add_dracutmodules+=" keybroker "` (keybroker-dracut ships that in
# /usr/lib/dracut/dracut.conf.d/) or `dracut --add keybroker`. Settings as for initramfs-tools
# (docs/boot.md): /etc/keybroker/ca.pem and the optional /etc/keybroker/initramfs.conf are copied
# in. For tests and packagers: KEYBROKER_TOKEN_PLUGIN names the plugin to install and
# KEYBROKER_CONFDIR the folder with ca.pem and initramfs.conf.

# The folder libcryptsetup loads token plugins from: cryptsetup/ beside libcryptsetup.so.12.
keybroker_plugin_dir() {
    local d
    for d in $libdirs; do
        if [[ -e $dracutsysrootdir$d/libcryptsetup.so.12 ]]; then
            echo "$d/cryptsetup"
            return 0
        fi
    done
    return 1
}

keybroker_plugin() {
    echo "${KEYBROKER_TOKEN_PLUGIN:-$dracutsysrootdir$(keybroker_plugin_dir)/libcryptsetup-token-keybroker.so}"
}

check() {
    require_binaries "$systemdutildir"/systemd-cryptsetup || return 1
    [[ -e $(keybroker_plugin) ]] || {
        derror "keybroker: no token plugin at $(keybroker_plugin)"
        return 1
    }
    return 255
}

depends() {
    # systemd-networkd named so that the network module never picks network-legacy.
    echo crypt systemd network systemd-networkd
}

installkernel() {
    # The evidence devices: a vTPM, the SEV-SNP and TDX guest interfaces (missing ones skipped).
    hostonly='' instmods tpm_tis tpm_crb tpm_tis_core sev-guest tdx_guest tsm configfs dm_crypt
}

install() {
    local plugin conf
    plugin=$(keybroker_plugin)
    # libcryptsetup loads token plugins from its own folder only. dracut resolves the libraries
    # of executable files only, and a packaged plugin is not executable: its libraries (ldd
    # lists them all, transitively) are installed here.
    inst_library "$plugin" "$(keybroker_plugin_dir)/libcryptsetup-token-keybroker.so" || return 1
    local lib
    for lib in $(ldd "$plugin" | sed -n 's|.*=> \(/[^ ]*\) .*|\1|p'); do
        inst_library "$lib" || return 1
    done
    # tpm2-tss opens its TCTI with dlopen (no dependency to resolve).
    inst_libdir_file "libtss2-tcti-device.so*"
    conf=${KEYBROKER_CONFDIR:-$dracutsysrootdir/etc/keybroker}
    if [[ -r $conf/ca.pem ]]; then
        inst_simple "$conf/ca.pem" /etc/keybroker/ca.pem
    else
        dwarn "keybroker: no $conf/ca.pem: tokens without their own CA cannot be opened"
    fi
    [[ -r $conf/initramfs.conf ]] && inst_simple "$conf/initramfs.conf" /etc/keybroker/initramfs.conf
    # Every systemd-cryptsetup@ unit waits for the network (its brokers are on it).
    inst_simple "$moddir/keybroker-network.conf" \
        "$systemdsystemunitdir/systemd-cryptsetup@.service.d/keybroker-network.conf"
    inst_rules 60-tpm-udev.rules
}
