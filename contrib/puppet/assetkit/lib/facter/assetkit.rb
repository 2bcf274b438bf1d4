# frozen_string_literal: true

# Fact `assetkit`: this host's hardware and OS facts as the assetkit agent collects them (the
# `facts` of `assetkit collect`: os, system, baseboard, bios, cpu, memory, disks, nics, ...), the
# same data the receiver stores and the Salt grain shows. Collected by the agent binary once per
# Puppet run (a run resolves facts several times: the result is kept in the process), never
# when the agent is not installed.
module AssetkitFact
  BINARY = '/usr/bin/assetkit'

  def self.collect
    return @collected if defined?(@collected)

    @collected = begin
      output = Facter::Core::Execution.execute("#{BINARY} collect --mode cli", timeout: 120)
      JSON.parse(output)['facts']
    rescue StandardError => e
      Facter.debug("assetkit: #{BINARY} collect failed: #{e.message}")
      nil
    end
  end
end

Facter.add(:assetkit) do
  confine { File.executable?(AssetkitFact::BINARY) }
  setcode do
    require 'json'
    AssetkitFact.collect
  end
end
