#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine (Debian, as root): munge + slurmctld + slurmd, one node
# with all cores, one partition "main", no accounting. Idempotent: what already runs is left running, an
# existing /etc/slurm/slurm.conf is kept. For tests and CI (tests/experiment_slurm_test.ts); on a real cluster
# your site's Slurm is used instead. Installs slurm-wlm and munge with apt-get when they are missing.
set -eu
if [ "$(id -u)" -ne 0 ]; then echo "slurm-up: must run as root (starts munged, slurmctld, slurmd)" >&2; exit 1; fi
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  echo "slurm-up: installing slurm-wlm and munge" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
if ! pgrep -x munged >/dev/null; then
  mkdir -p /etc/munge /var/log/munge /var/lib/munge /run/munge
  [ -s /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  chown -R munge:munge /etc/munge /var/log/munge /var/lib/munge /run/munge
  chmod 0400 /etc/munge/munge.key
  su -s /bin/sh munge -c /usr/sbin/munged
fi
host=$(hostname -s)
cpus=$(nproc)
mem=$(($(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 - 1024))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
if [ ! -f /etc/slurm/slurm.conf ]; then
  # proctrack/linuxproc and task/none: no cgroups needed (containers, CI machines). Jobs that give no --mem
  # get DefMemPerCPU, so several array tasks share the node instead of each claiming all its memory.
  cat >/etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((mem / cpus))
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
fi
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 1 30); do
  sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc' && break
  sleep 1
done
sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc' || { echo "slurm-up: node did not come up; see /var/log/slurm/" >&2; exit 1; }
sinfo
