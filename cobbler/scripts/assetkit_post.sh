#!/bin/bash
## Served by Cobbler as an autoinstall script (/cblr/svc/op/script/.../?script=assetkit_post.sh)
## for preseed and autoinstall late-commands: the snippet, rendered for the requesting system.
$SNIPPET('assetkit_post')
