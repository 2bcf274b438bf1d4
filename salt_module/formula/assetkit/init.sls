# assetkit: install the agent, configure it, enable its timer, send a first report.
#   salt '*' state.apply assetkit
include:
  - .install
  - .config
  - .service
