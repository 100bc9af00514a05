/**
 * The roles of `certwright export ansible`, written as they are (plain ansible-core builtins).
 * Per-host facts come from the inventory the export writes; nothing here is per estate.
 */
export const ROLE_FILES: Record<string, string> = {
  'roles/certwright_host/tasks/main.yml': String.raw`---
# What certwright would do on a host before its agents: the service users, lingering (each
# user's systemd runs without a login), the root in each service user's trust path, and a check
# that the certwright the hook runs is there.
- name: Service users exist
  ansible.builtin.user:
    name: "{{ item }}"
    create_home: true
    shell: /bin/sh
  loop: "{{ certwright_service_users }}"
  when: certwright_host_manage_users | bool

- name: Read the service users' homes
  ansible.builtin.getent:
    database: passwd

- name: Lingering for each service user
  ansible.builtin.command:
    cmd: loginctl enable-linger {{ item }}
    creates: /var/lib/systemd/linger/{{ item }}
  loop: "{{ certwright_service_users }}"
  register: certwright_host_linger

- name: The systemd of each newly lingering user runs  # noqa: command-instead-of-module
  ansible.builtin.command:
    cmd: systemctl --user -M {{ item }}@ is-system-running
  register: certwright_host_manager
  until: certwright_host_manager.stdout in ['running', 'degraded']
  retries: 60
  delay: 1
  changed_when: false
  failed_when: certwright_host_manager.stdout not in ['running', 'degraded']
  loop: "{{ certwright_host_linger.results | selectattr('changed') | map(attribute='item') | list }}"

- name: Trust path directories (0700, owned by the user)
  ansible.builtin.file:
    path: "{{ ansible_facts.getent_passwd[item.0.user][4] }}/{{ item.1 }}"
    state: directory
    owner: "{{ item.0.user }}"
    group: "{{ item.0.user }}"
    mode: "0700"
  loop: "{{ certwright_trust | subelements('dirs') }}"
  loop_control:
    label: "{{ item.0.user }}: {{ item.1 }}"

- name: The environment's root in each trust path (0644)
  ansible.builtin.copy:
    src: "{{ playbook_dir }}/files/root-ca.pem"
    dest: "{{ ansible_facts.getent_passwd[item.user][4] }}/{{ item.path }}"
    owner: "{{ item.user }}"
    group: "{{ item.user }}"
    mode: "0644"
  loop: "{{ certwright_trust }}"
  loop_control:
    label: "{{ item.user }}: {{ item.path }}"

- name: Find the certwright the hook runs
  ansible.builtin.stat:
    path: "{{ certwright_hook_command[0] }}"
  register: certwright_host_hook_binary

- name: The hook's certwright is installed
  ansible.builtin.assert:
    that:
      - certwright_host_hook_binary.stat.exists
      - certwright_host_hook_binary.stat.executable
    fail_msg: >-
      {{ certwright_hook_command[0] }} is missing or not executable: install certwright there
      (the agents' hook runs it), or set hosts[].certwright in the estate file.
    quiet: true
`,
  'roles/certwright_host/defaults/main.yml': String.raw`---
# false: the service users must already exist (certwright itself never creates users).
certwright_host_manage_users: true
`,
  'roles/certwright_agent/tasks/main.yml': String.raw`---
- name: Roll out each agent of this host
  ansible.builtin.include_tasks: agent.yml
  loop: "{{ certwright_agents }}"
  loop_control:
    loop_var: certwright_agent
    label: "{{ certwright_agent.id }}"
`,
  'roles/certwright_agent/tasks/agent.yml': String.raw`---
# One agent, as "certwright agent KIND --user USER --install" would set it up: its directory, the
# pinned root, the Vault CA, config and template rendered by certwright, the minimal user unit in
# the user's systemd. role_id and a response-wrapped secret_id are fetched from the controller
# only when the agent (re)starts: the wrapped secret_id is single use, so an agent that keeps
# running needs none and a second play changes nothing. systemctl is run as a command (noqa):
# the systemd module cannot address another user's manager (systemctl --user -M USER@).
# Each module run costs a Python start on the host, so the directories are one loop, the files
# one loop, and one systemctl show answers both "active?" and "enabled?".
- name: Agent directories {{ certwright_agent.id }}
  ansible.builtin.file:
    path: "{{ item.path if item.path is defined else certwright_agent_home ~ '/' ~ item.home }}"
    state: directory
    owner: "{{ certwright_agent.user }}"
    group: "{{ certwright_agent.user }}"
    mode: "{{ item.mode }}"
  loop: "{{ certwright_agent.dirs }}"
  loop_control:
    label: "{{ item.path if item.path is defined else '~/' ~ item.home }}"
  vars:
    certwright_agent_home: "{{ ansible_facts.getent_passwd[certwright_agent.user][4] }}"

- name: Pinned root, Vault CA, agent config, template and user unit {{ certwright_agent.id }}
  ansible.builtin.copy:
    src: "{{ playbook_dir }}/{{ item.src }}"
    dest: "{{ item.dest if item.dest is defined else certwright_agent_home ~ '/' ~ item.home }}"
    owner: "{{ certwright_agent.user }}"
    group: "{{ certwright_agent.user }}"
    mode: "0644"
  loop: "{{ certwright_agent.files }}"
  loop_control:
    label: "{{ item.dest if item.dest is defined else '~/' ~ item.home }}"
  vars:
    certwright_agent_home: "{{ ansible_facts.getent_passwd[certwright_agent.user][4] }}"
  register: certwright_agent_files

- name: State of the unit {{ certwright_agent.id }}  # noqa: command-instead-of-module
  ansible.builtin.command:
    cmd: systemctl --user -M {{ certwright_agent.user }}@ show --property=ActiveState --property=UnitFileState {{ certwright_agent.unit }}
  register: certwright_agent_unit
  changed_when: false

- name: Decide whether the agent (re)starts {{ certwright_agent.id }}
  ansible.builtin.set_fact:
    certwright_agent_start: "{{ certwright_agent_files.changed or 'ActiveState=active' not in certwright_agent_unit.stdout_lines }}"

- name: Reload the user's systemd {{ certwright_agent.id }}  # noqa: command-instead-of-module
  ansible.builtin.command:
    cmd: systemctl --user -M {{ certwright_agent.user }}@ daemon-reload
  changed_when: true
  when: certwright_agent_start | bool

- name: Enable the unit {{ certwright_agent.id }}  # noqa: command-instead-of-module
  ansible.builtin.command:
    cmd: systemctl --user -M {{ certwright_agent.user }}@ enable {{ certwright_agent.unit }}
  changed_when: true
  when: "'UnitFileState=enabled' not in certwright_agent_unit.stdout_lines"

- name: Mint role_id and a wrapped secret_id on the controller {{ certwright_agent.id }}
  ansible.builtin.set_fact:
    certwright_agent_credential: "{{ lookup('ansible.builtin.pipe', certwright_agent_lookup) | from_json }}"
  vars:
    certwright_agent_lookup: >-
      {{ certwright_controller }} ansible-secret --file {{ certwright_estate_file | quote }} --agent {{ certwright_agent.id | quote }}
  no_log: true
  when: certwright_agent_start | bool

- name: Write role_id and the wrapped secret_id (0600) {{ certwright_agent.id }}
  ansible.builtin.copy:
    content: "{{ item.content }}\n"
    dest: "{{ certwright_agent.out }}/{{ item.dest }}"
    owner: "{{ certwright_agent.user }}"
    group: "{{ certwright_agent.user }}"
    mode: "0600"
  loop:
    - { dest: role_id, content: "{{ certwright_agent_credential.role_id }}" }
    - { dest: secret_id, content: "{{ certwright_agent_credential.wrapped_secret_id }}" }
  no_log: true
  when: certwright_agent_start | bool

- name: Start the agent {{ certwright_agent.id }}  # noqa: command-instead-of-module
  ansible.builtin.command:
    cmd: systemctl --user -M {{ certwright_agent.user }}@ restart {{ certwright_agent.unit }}
  changed_when: true
  when: certwright_agent_start | bool

- name: Wait until the agent is active {{ certwright_agent.id }}  # noqa: command-instead-of-module
  ansible.builtin.command:
    cmd: systemctl --user -M {{ certwright_agent.user }}@ show --property=ActiveState --value {{ certwright_agent.unit }}
  register: certwright_agent_state
  until: certwright_agent_state.stdout == 'active'
  retries: 60
  delay: 1
  changed_when: false
  when: certwright_agent_start | bool

- name: Wait for the agent's first render {{ certwright_agent.id }}
  ansible.builtin.wait_for:
    path: "{{ certwright_agent.rendered }}"
    timeout: 120
  when: certwright_agent_start | bool
`,
};
