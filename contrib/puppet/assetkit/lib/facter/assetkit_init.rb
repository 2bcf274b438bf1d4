# frozen_string_literal: true

# Fact `assetkit_init`: the name of PID 1 (systemd, or something else in a container or an
# image build). The assetkit class starts the timer through systemd only where systemd runs.
Facter.add(:assetkit_init) do
  setcode do
    File.read('/proc/1/comm').strip
  rescue StandardError
    nil
  end
end
