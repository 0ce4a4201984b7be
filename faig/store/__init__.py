"""One record for every cached result: what it was made from (its key) and what it wrote (a hash per file).

The rule, the same for every tool, the study and the studies:

- **A key, never paths.** Models count by their tensors (:func:`state_digest`, the one identity of a model), inputs by
  their contents (faig.stamps: pixels for images), settings as given. A result is reused only for an equal key AND
  output files unchanged since they were written.
- **Never into what a run reads.** An output folder may not be, or lie inside, a folder the run reads or a data set
  (:func:`check_not_inputs`; real paths: symlinks and ``..`` resolved).
- **One writer per folder.** :class:`FolderLock` holds ``<folder>/.lock`` for the run; a second run is refused.
- **Another run's results are not replaced silently.** :func:`claim_results`: other settings need ``--force``, which
  removes only the files the earlier record lists (or ``--resume`` of the same settings).
- **Partial results** of a long run (:class:`PartialStore`) are resumed only under the same key.
- **Final files land together** (:func:`commit_files`): temporary names, a journal, renames; a crash is rolled forward
  or leaves the previous set.

:class:`RunOutputs` composes these for one run's output folder. Every record carries ``record_format``
(:data:`RECORD_FORMAT`); records without it (earlier versions) load as they are, a later format is refused in one line.
"""
# The API of the store; its parts: records (keys, the reader, output records, provenance), folders (where and how
# a run writes), run (a run's output folder).
from faig.store.folders import (JOURNAL, LOCK, TMP_PREFIX, FolderLock, build_whole_folder,  # noqa: F401
                                check_not_inputs, claim_results, commit_files, folder_locks, is_within, odd_entry,
                                real, recover_commit)
from faig.store.records import (RECORD_FORMAT, STAMP, OutputRecord, StampedFolder,  # noqa: F401
                                canonical, check_provenance, files_digest, key_difference, network_digest,
                                read_json_or_set_aside, read_record, record_bytes, same_model, set_aside,
                                sha1_file, state_digest)
from faig.store.run import PartialStore, RunOutputs, previous_partial  # noqa: F401
